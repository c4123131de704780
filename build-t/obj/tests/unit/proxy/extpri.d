build/obj/tests/unit/proxy/extpri.o: tests/unit/proxy/extpri.c \
 common/err.h proxy/extpri.h common/str.h
common/err.h:
proxy/extpri.h:
common/str.h:
