build/obj/config/route.o: config/route.c config/config.h common/str.h \
 config/config-t.h config/parse.h common/xalloc.h
config/config.h:
common/str.h:
config/config-t.h:
config/parse.h:
common/xalloc.h:
