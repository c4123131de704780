build/obj/tests/unit/config/route.o: tests/unit/config/route.c \
 tests/unit/config/helpers.h config/config.h common/str.h \
 config/config-t.h config/parse.h
tests/unit/config/helpers.h:
config/config.h:
common/str.h:
config/config-t.h:
config/parse.h:
