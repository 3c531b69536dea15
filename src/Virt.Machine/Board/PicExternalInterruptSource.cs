using Virt.Devices;

namespace Virt.Machine;

/// <summary>The 8259A pair's INTR output and INTA cycle as the local APIC sees them (LINT0, ExtINT).</summary>
internal sealed class PicExternalInterruptSource(Pic8259Pair pic) : IExternalInterruptSource
{
    public bool IsInterruptRequested => pic.HasPendingInterrupt;

    public byte AcknowledgeInterrupt() => pic.AcknowledgeInterrupt();
}
