build/obj/tests/unit/common/syslog.o: tests/unit/common/syslog.c \
 common/syslog.h common/str.h
common/syslog.h:
common/str.h:
