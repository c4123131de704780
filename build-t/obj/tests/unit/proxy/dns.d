build/obj/tests/unit/proxy/dns.o: tests/unit/proxy/dns.c common/err.h \
 proxy/dns.h common/str.h
common/err.h:
proxy/dns.h:
common/str.h:
