build/obj/proxy/extpri.o: proxy/extpri.c proxy/extpri.h common/str.h \
 common/err.h
proxy/extpri.h:
common/str.h:
common/err.h:
