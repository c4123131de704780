build/obj/tests/unit/proxy/alog_writer.o: tests/unit/proxy/alog_writer.c \
 common/syslog.h common/str.h proxy/accesslog.h common/buf-t.h \
 proxy/hdrs-t.h
common/syslog.h:
common/str.h:
proxy/accesslog.h:
common/buf-t.h:
proxy/hdrs-t.h:
