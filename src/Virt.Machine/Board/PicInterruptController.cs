using Virt.Cpu;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>Presents the 8259A pair to the CPU as its interrupt controller (the INTR pin and the INTA cycle).</summary>
internal sealed class PicInterruptController(Pic8259Pair pic) : IInterruptController
{
    public bool IsInterruptPending => pic.HasPendingInterrupt;

    public byte Acknowledge() => pic.AcknowledgeInterrupt();
}
