build/obj/common/log.o: common/log.c common/log.h common/err.h \
 common/syslog.h common/str.h
common/log.h:
common/err.h:
common/syslog.h:
common/str.h:
