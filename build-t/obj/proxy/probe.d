build/obj/proxy/probe.o: proxy/probe.c proxy/probe.h
proxy/probe.h:
