build/obj/bench/origin.o: bench/origin.c common/buf.h common/buf-t.h \
 common/str.h common/xalloc.h
common/buf.h:
common/buf-t.h:
common/str.h:
common/xalloc.h:
