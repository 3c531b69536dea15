using Virt.Devices;

namespace Virt.Machine;

/// <summary>
/// Delivers PCI MSI messages to the local APIC: the message address (FEEx_xxxxh) names the destination and its mode,
/// the data word the vector, delivery mode and trigger mode (Intel SDM Vol. 3A, 11.11 "Message Signalled Interrupts").
/// </summary>
internal sealed class LocalApicMsiTarget : IMsiTarget
{
    private const ulong MsiAddressMask = 0xFFF0_0000;
    private const ulong MsiAddressBase = 0xFEE0_0000;
    private const int DestinationShift = 12;
    private const ulong DestinationModeLogical = 1 << 2;
    private const uint VectorMask = 0xFF;
    private const int DeliveryModeShift = 8;
    private const uint DeliveryModeMask = 0x7;
    private const uint TriggerModeLevel = 1 << 15;

    private readonly IApicInterruptTarget _apic;

    public LocalApicMsiTarget(IApicInterruptTarget apic) => _apic = apic;

    /// <summary>Messages whose address is not in the FEEx_xxxxh interrupt window (a real chipset would write memory).</summary>
    public long MisdirectedMessages { get; private set; }

    public void DeliverMessage(ulong address, uint data, PciFunctionAddress source)
    {
        if ((address & MsiAddressMask) != MsiAddressBase)
        {
            MisdirectedMessages++;
            return;
        }

        var mode = (ApicDeliveryMode)((data >> DeliveryModeShift) & DeliveryModeMask);
        _apic.DeliverInterrupt(
            mode,
            (byte)(data & VectorMask),
            (data & TriggerModeLevel) != 0,
            (address & DestinationModeLogical) != 0,
            (byte)(address >> DestinationShift));
    }
}
