build/obj/common/syslog.o: common/syslog.c common/syslog.h common/str.h \
 common/xalloc.h
common/syslog.h:
common/str.h:
common/xalloc.h:
