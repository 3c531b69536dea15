using Virt.Devices;

namespace Virt.Devices.Tests.Fakes;

/// <summary>A local APIC stand-in that records the messages it is offered and accepts them when told to.</summary>
public sealed class RecordingApicTarget : IApicInterruptTarget
{
    public List<(ApicDeliveryMode Mode, byte Vector, bool Level, bool Logical, byte Destination)> Messages { get; } = [];

    public bool Accept { get; set; } = true;

    public bool DeliverInterrupt(ApicDeliveryMode mode, byte vector, bool levelTriggered, bool logicalDestination, byte destination)
    {
        Messages.Add((mode, vector, levelTriggered, logicalDestination, destination));
        return Accept;
    }
}
