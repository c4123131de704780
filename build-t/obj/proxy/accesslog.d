build/obj/proxy/accesslog.o: proxy/accesslog.c proxy/accesslog.h \
 common/buf-t.h common/str.h proxy/hdrs-t.h common/buf.h common/xalloc.h \
 proxy/alog_json.h proxy/hdrs.h
proxy/accesslog.h:
common/buf-t.h:
common/str.h:
proxy/hdrs-t.h:
common/buf.h:
common/xalloc.h:
proxy/alog_json.h:
proxy/hdrs.h:
