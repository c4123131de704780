build/obj/tests/unit/proxy/admin.o: tests/unit/proxy/admin.c \
 common/stats.h common/buf-t.h common/stats-t.h common/xalloc.h \
 proxy/admin.h
common/stats.h:
common/buf-t.h:
common/stats-t.h:
common/xalloc.h:
proxy/admin.h:
