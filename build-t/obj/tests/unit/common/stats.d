build/obj/tests/unit/common/stats.o: tests/unit/common/stats.c \
 common/buf.h common/buf-t.h common/stats.h common/stats-t.h \
 common/version.h common/xalloc.h
common/buf.h:
common/buf-t.h:
common/stats.h:
common/stats-t.h:
common/version.h:
common/xalloc.h:
