build/obj/common/cpus.o: common/cpus.c common/cpus.h common/xalloc.h
common/cpus.h:
common/xalloc.h:
