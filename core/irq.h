/* How a device raises an interrupt without knowing about KVM: the VM gives
 * it a struct mv_irq; tests give it a recording fake. */
#ifndef MV_IRQ_H
#define MV_IRQ_H

struct mv_irq_ops {
	/* Set the level of a GSI (IOAPIC pin). Callable from any thread. */
	void (*set_level)(void *opaque, unsigned int gsi, int level);
};

struct mv_irq {
	const struct mv_irq_ops *ops;
	void *opaque;
};

static inline void irq__set_level(const struct mv_irq *irq, unsigned int gsi, int level)
{
	if (irq && irq->ops)
		irq->ops->set_level(irq->opaque, gsi, level);
}

/* Edge-triggered ISA interrupt: raise then lower. */
static inline void irq__pulse(const struct mv_irq *irq, unsigned int gsi)
{
	irq__set_level(irq, gsi, 1);
	irq__set_level(irq, gsi, 0);
}

#endif
