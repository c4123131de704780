build/obj/proxy/alog_writer.o: proxy/alog_writer.c proxy/accesslog.h \
 common/buf-t.h common/str.h proxy/hdrs-t.h common/err.h common/syslog.h \
 common/xalloc.h
proxy/accesslog.h:
common/buf-t.h:
common/str.h:
proxy/hdrs-t.h:
common/err.h:
common/syslog.h:
common/xalloc.h:
