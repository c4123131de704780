build/obj/config/resolve.o: config/resolve.c config/resolve.h
config/resolve.h:
