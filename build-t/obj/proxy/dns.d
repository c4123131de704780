build/obj/proxy/dns.o: proxy/dns.c proxy/dns.h common/str.h \
 common/container.h common/err.h common/log.h common/stats.h \
 common/buf-t.h common/stats-t.h common/xalloc.h
proxy/dns.h:
common/str.h:
common/container.h:
common/err.h:
common/log.h:
common/stats.h:
common/buf-t.h:
common/stats-t.h:
common/xalloc.h:
