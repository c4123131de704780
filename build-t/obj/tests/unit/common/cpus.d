build/obj/tests/unit/common/cpus.o: tests/unit/common/cpus.c \
 common/cpus.h
common/cpus.h:
