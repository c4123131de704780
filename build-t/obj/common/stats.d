build/obj/common/stats.o: common/stats.c common/stats.h common/buf-t.h \
 common/stats-t.h common/buf.h common/err.h common/version.h \
 common/xalloc.h
common/stats.h:
common/buf-t.h:
common/stats-t.h:
common/buf.h:
common/err.h:
common/version.h:
common/xalloc.h:
