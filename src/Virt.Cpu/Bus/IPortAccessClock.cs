namespace Virt.Cpu;

/// <summary>
/// The clock hook a CPU calls before it reaches the port space, so that its host can bring guest time up to the current
/// instruction first: a device read (a PIT counter, say) then sees the time of the access rather than of the last timer
/// slice. Given to the CPU at construction (<see cref="CpuBus.PortAccessClock"/>).
/// </summary>
public interface IPortAccessClock
{
    /// <summary>
    /// Called just before an IN, OUT, INS or OUTS (each iteration of a REP form) reaches the port space, with
    /// <see cref="Cpu.RetiredInstructions"/> counting every instruction before it.
    /// </summary>
    void BeforePortAccess();
}
