build/obj/tests/unit/proxy/xlate.o: tests/unit/proxy/xlate.c common/buf.h \
 common/buf-t.h common/err.h proxy/hdrs.h common/str.h proxy/hdrs-t.h \
 proxy/xlate.h config/config-t.h
common/buf.h:
common/buf-t.h:
common/err.h:
proxy/hdrs.h:
common/str.h:
proxy/hdrs-t.h:
proxy/xlate.h:
config/config-t.h:
