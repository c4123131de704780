build/obj/tests/unit/proxy/alog_json.o: tests/unit/proxy/alog_json.c \
 common/xalloc.h proxy/accesslog.h common/buf-t.h common/str.h \
 proxy/hdrs-t.h proxy/alog_json.h proxy/hdrs.h
common/xalloc.h:
proxy/accesslog.h:
common/buf-t.h:
common/str.h:
proxy/hdrs-t.h:
proxy/alog_json.h:
proxy/hdrs.h:
