build/obj/tests/unit/proxy/proxyproto.o: tests/unit/proxy/proxyproto.c \
 proxy/proxyproto.h
proxy/proxyproto.h:
