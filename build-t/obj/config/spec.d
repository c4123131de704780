build/obj/config/spec.o: config/spec.c config/config.h common/str.h \
 config/config-t.h config/parse.h common/xalloc.h
config/config.h:
common/str.h:
config/config-t.h:
config/parse.h:
common/xalloc.h:
