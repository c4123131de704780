build/obj/config/connect_rule.o: config/connect_rule.c \
 config/connect_rule.h common/str.h common/xalloc.h
config/connect_rule.h:
common/str.h:
common/xalloc.h:
