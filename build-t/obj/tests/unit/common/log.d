build/obj/tests/unit/common/log.o: tests/unit/common/log.c common/log.h
common/log.h:
