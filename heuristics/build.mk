# heuristics/: the analysis library (libmbheur.a) and the mbuddy CLI.
# Library sources: every heuristics/*.c except mbuddy.c and cmd_*.c.
HEUR_LIB_SRCS := $(filter-out heuristics/mbuddy.c heuristics/cmd_%.c,$(wildcard heuristics/*.c))
HEUR_LIB_OBJS := $(HEUR_LIB_SRCS:%.c=$(BUILD)/%.o)
HEUR_CLI_SRCS := heuristics/mbuddy.c $(wildcard heuristics/cmd_*.c)
HEUR_CLI_OBJS := $(HEUR_CLI_SRCS:%.c=$(BUILD)/%.o)
LIBHEUR := $(BUILD)/heuristics/libmbheur.a
# Libraries mbuddy links besides libmbcore (parts may append, e.g. libcurl).
MBUDDY_LIBS := -ljansson -lpthread -lm
MBUDDY := $(BUILD)/mbuddy

$(BUILD)/heuristics/%.o: PART_CFLAGS += -Iheuristics

$(LIBHEUR): $(HEUR_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(MBUDDY): $(HEUR_CLI_OBJS) $(LIBHEUR) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $(HEUR_CLI_OBJS) $(LIBHEUR) $(LIBMB) $(MBUDDY_LIBS) $(LIBMB_LIBS)

PROGRAMS += $(LIBHEUR) $(MBUDDY)
