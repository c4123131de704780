build/obj/config/fields.o: config/fields.c config/parse.h common/str.h \
 config/config-t.h common/xalloc.h
config/parse.h:
common/str.h:
config/config-t.h:
common/xalloc.h:
