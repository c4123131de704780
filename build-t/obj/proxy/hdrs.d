build/obj/proxy/hdrs.o: proxy/hdrs.c proxy/hdrs.h common/str.h \
 proxy/hdrs-t.h common/err.h common/xalloc.h
proxy/hdrs.h:
common/str.h:
proxy/hdrs-t.h:
common/err.h:
common/xalloc.h:
