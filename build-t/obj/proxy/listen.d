build/obj/proxy/listen.o: proxy/listen.c proxy/listen.h common/err.h \
 common/xalloc.h config/config-t.h
proxy/listen.h:
common/err.h:
common/xalloc.h:
config/config-t.h:
