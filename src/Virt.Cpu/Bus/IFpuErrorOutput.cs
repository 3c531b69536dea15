namespace Virt.Cpu;

/// <summary>
/// The x87 FERR# output pin. With CR0.NE clear an unmasked x87 error asserts it at the next waiting x87 instruction, and
/// FNCLEX/FNINIT (or a restore that clears the error summary) deassert it (Intel SDM Vol. 1, 8.7 and D.2.1). A PC routes it
/// to IRQ13 through the chipset. Given to the CPU at construction (<see cref="CpuBus.FpuError"/>).
/// </summary>
public interface IFpuErrorOutput
{
    /// <summary>
    /// Called with true when FERR# is asserted (CR0.NE = 0 and a waiting x87 instruction or WAIT finds an unmasked exception
    /// pending) and with false when it is deasserted (FNINIT, FNCLEX, FLDENV/FRSTOR/FLDCW clearing the error). Execution
    /// continues after the assertion (as with IGNNE# asserted by the chipset once the IRQ13 handler has written port F0h);
    /// the interrupt is taken at the next instruction boundary.
    /// </summary>
    /// <param name="asserted">The new level: true when an x87 error is reported.</param>
    void OnFerrChanged(bool asserted);
}
