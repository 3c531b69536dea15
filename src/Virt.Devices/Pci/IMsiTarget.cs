namespace Virt.Devices;

/// <summary>
/// Where PCI Message Signaled Interrupts go: on a PC, the local APICs, which decode the message address (FEExxxxxh)
/// and data (vector, delivery mode). The board sets it on <see cref="PciBus.MsiTarget"/>; without one (no APIC
/// on the board) messages are dropped and counted in <see cref="PciBus.DroppedMsiCount"/>, as a write to FEExxxxxh
/// with nothing to decode it goes nowhere.
/// </summary>
public interface IMsiTarget
{
    /// <summary>Delivers one message: the dword write a function performs when it signals an MSI.</summary>
    /// <param name="address">The message address (Message Address, and Message Upper Address for 64-bit capable functions).</param>
    /// <param name="data">The message data, with the vector number ORed into its low bits when several vectors are enabled.</param>
    /// <param name="source">The function that signalled, for logs.</param>
    void DeliverMessage(ulong address, uint data, PciFunctionAddress source);
}
