using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine.Tests.Docs;

/// <summary>
/// The example card of docs/pci.md, compiled here (keep the two in step): a scratch register, a DMA copy engine that
/// signals completion on INTA#, all in one 4 KiB memory BAR.
/// </summary>
public sealed class ScratchPciCard : PciDevice, IStatefulDevice<ScratchPciCardState>
{
    // BAR0 registers (dwords).
    public const int Scratch = 0x00;
    public const int DmaSource = 0x04;
    public const int DmaDestination = 0x08;
    public const int DmaLength = 0x0C;
    public const int Control = 0x10;   // write ControlStart: copy DmaLength bytes, then raise INTA#
    public const int Status = 0x14;    // StatusDone; write 1 to clear (lowers INTA#)
    public const uint ControlStart = 1;
    public const uint StatusDone = 1;
    public const int MaxDmaLength = 4096;

    private readonly uint[] _registers = new uint[6];

    public ScratchPciCard()
        : base("scratch card", new PciDeviceIdentity(VendorId: 0x1234, DeviceId: 0xBEEF, ClassCode: 0xFF_0000) { InterruptPin = PciInterruptPin.IntA })
    {
        DefineMemoryBar(0, 4096, new Registers(this));
    }

    public ScratchPciCardState SaveState() => new(SaveConfiguration(), [.. _registers]);

    public void RestoreState(ScratchPciCardState state)
    {
        if (state.Registers.Length != _registers.Length)
        {
            throw new ArgumentException("ScratchPciCardState.Registers must hold 6 values.", nameof(state));
        }

        RestoreConfiguration(state.Configuration);
        state.Registers.CopyTo(_registers, 0);
    }

    protected override void OnReset() => Array.Clear(_registers);

    private void Write(int register, uint value)
    {
        switch (register)
        {
            case Control when (value & ControlStart) != 0:
                int length = (int)Math.Min(_registers[DmaLength / 4], MaxDmaLength);
                byte[] buffer = new byte[length];
                if (DmaRead(new PhysicalAddress(_registers[DmaSource / 4]), buffer) &&
                    DmaWrite(new PhysicalAddress(_registers[DmaDestination / 4]), buffer))
                {
                    _registers[Status / 4] |= StatusDone;
                    SetInterruptLevel(true);
                }

                break;
            case Status:
                _registers[Status / 4] &= ~value;
                SetInterruptLevel((_registers[Status / 4] & StatusDone) != 0);
                break;
            case < Control:
                _registers[register / 4] = value;
                break;
        }
    }

    /// <summary>BAR0: dword registers; the rest of the 4 KiB reads 0.</summary>
    private sealed class Registers(ScratchPciCard card) : IMmioDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.DoubleWord;

        public ulong Read(RegionOffset offset, int sizeInBytes) =>
            offset.Value < (ulong)card._registers.Length * 4 ? card._registers[offset.Value / 4] : 0;

        public void Write(RegionOffset offset, int sizeInBytes, ulong value)
        {
            if (offset.Value < (ulong)card._registers.Length * 4)
            {
                card.Write((int)offset.Value, (uint)value);
            }
        }
    }
}
