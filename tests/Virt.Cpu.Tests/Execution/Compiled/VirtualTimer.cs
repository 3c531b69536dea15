namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// An interrupt controller driven by virtual time, as a deterministic machine's timer is: INTR is asserted whenever the
/// CPU's retired count reached the deadline, so interrupts fall inside runs (inside blocks and chains), not only at budget
/// boundaries; each acknowledgement sets the next deadline by a step that varies.
/// </summary>
internal sealed class VirtualTimer(Cpu cpu, byte vector, int period) : IInterruptController
{
    private long _deadline = period;

    /// <summary>How many interrupts the CPU took.</summary>
    public long Acknowledged { get; private set; }

    public bool IsInterruptPending => cpu.RetiredInstructions >= _deadline;

    public byte Acknowledge()
    {
        Acknowledged++;
        _deadline = cpu.RetiredInstructions + period + (Acknowledged % 7);
        return vector;
    }
}
