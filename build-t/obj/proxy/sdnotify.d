build/obj/proxy/sdnotify.o: proxy/sdnotify.c proxy/sdnotify.h \
 common/log.h
proxy/sdnotify.h:
common/log.h:
