build/obj/common/procstat.o: common/procstat.c common/procstat.h \
 common/stats-t.h
common/procstat.h:
common/stats-t.h:
