build/obj/tests/unit/common/buf.o: tests/unit/common/buf.c common/buf.h \
 common/buf-t.h
common/buf.h:
common/buf-t.h:
