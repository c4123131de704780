build/obj/tests/unit/config/fields.o: tests/unit/config/fields.c \
 tests/unit/config/helpers.h config/config.h common/str.h \
 config/config-t.h
tests/unit/config/helpers.h:
config/config.h:
common/str.h:
config/config-t.h:
