build/obj/tests/unit/proxy/probe.o: tests/unit/proxy/probe.c \
 proxy/probe.h
proxy/probe.h:
