namespace Virt.Devices.Tests.Pci;

/// <summary>An INTx# router that gives every pin its own recording line.</summary>
public sealed class RecordingRouter : IPciInterruptRouter
{
    public Dictionary<(PciFunctionAddress, PciInterruptPin), Fakes.RecordingInterruptLine> Lines { get; } = [];

    public IInterruptLine CreateIntxLine(PciFunctionAddress address, PciInterruptPin pin, string owner)
    {
        var line = new Fakes.RecordingInterruptLine();
        Lines.Add((address, pin), line);
        return line;
    }
}
