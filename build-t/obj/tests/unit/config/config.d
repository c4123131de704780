build/obj/tests/unit/config/config.o: tests/unit/config/config.c \
 tests/unit/config/helpers.h config/config.h common/str.h \
 config/config-t.h common/cpus.h common/log.h
tests/unit/config/helpers.h:
config/config.h:
common/str.h:
config/config-t.h:
common/cpus.h:
common/log.h:
