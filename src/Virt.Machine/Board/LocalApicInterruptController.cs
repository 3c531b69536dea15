using Virt.Cpu;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>Presents the local APIC (and, through its LINT0 or pass-through, the 8259A pair) to the CPU as its interrupt controller.</summary>
internal sealed class LocalApicInterruptController(LocalApic apic) : IInterruptController
{
    public bool IsInterruptPending => apic.HasPendingInterrupt;

    public byte Acknowledge() => apic.AcknowledgeInterrupt();
}
