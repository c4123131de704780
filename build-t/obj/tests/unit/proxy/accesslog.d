build/obj/tests/unit/proxy/accesslog.o: tests/unit/proxy/accesslog.c \
 common/buf.h common/buf-t.h common/xalloc.h proxy/accesslog.h \
 common/str.h proxy/hdrs-t.h proxy/hdrs.h
common/buf.h:
common/buf-t.h:
common/xalloc.h:
proxy/accesslog.h:
common/str.h:
proxy/hdrs-t.h:
proxy/hdrs.h:
