using FsCheck.Xunit;
using Virt.Devices.Tests.Fakes;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Pci;

/// <summary>QEMU's educational card against its specification (QEMU docs/specs/edu.rst), on a bare bus.</summary>
public sealed class EduDeviceTests
{
    private const int Slot = 4;
    private const uint Bar = 0xE000_0000;
    private const uint Ram = 0x10_0000;

    private readonly ManualClock _clock = new();
    private readonly RecordingRouter _router = new();
    private readonly RecordingMsiTarget _msi = new();
    private readonly EduDevice _card;
    private readonly PciTestRig _rig;

    public EduDeviceTests()
    {
        _card = new EduDevice(_clock);
        _rig = new PciTestRig(_router, (_card, Slot, 0));
        _rig.Bus.MsiTarget = _msi;
        _rig.WriteConfig(Slot, 0, PciConfigurationRegisters.Bar0, 4, Bar);
        _rig.WriteConfig(Slot, 0, PciConfigurationRegisters.Command, 2, PciConfigurationRegisters.CommandMemorySpace | PciConfigurationRegisters.CommandBusMaster);
    }

    private Fakes.RecordingInterruptLine IntA => _router.Lines[(new PciFunctionAddress(0, Slot, 0), PciInterruptPin.IntA)];

    [Fact]
    public void ConfigurationSpace_IsQemusEdu()
    {
        Assert.Equal(0x11E8_1234u, _rig.ReadConfig(Slot, 0, 0x00, 4));
        Assert.Equal(0x00FF_0010u, _rig.ReadConfig(Slot, 0, 0x08, 4));       // class 00FFh, revision 10h
        Assert.Equal(0x1100_1AF4u, _rig.ReadConfig(Slot, 0, 0x2C, 4));       // QEMU's subsystem IDs
        Assert.Equal(1u, _rig.ReadConfig(Slot, 0, 0x3D, 1));                 // INTA#
        Assert.Equal((uint)EduDevice.MsiCapabilityOffset, _rig.ReadConfig(Slot, 0, 0x34, 1));
        Assert.Equal(0x0080_0005u, _rig.ReadConfig(Slot, 0, 0x40, 4));       // MSI, last, 64-bit, one vector
        _rig.WriteConfig(Slot, 0, 0x10, 4, 0xFFFF_FFFF);
        Assert.Equal(~(uint)(EduDevice.Bar0SizeInBytes - 1), _rig.ReadConfig(Slot, 0, 0x10, 4)); // 1 MiB, 32-bit memory
    }

    [Fact]
    public void Identification_Liveness_AndBadAccesses()
    {
        Assert.Equal(EduDevice.Identification, Read(EduDevice.IdentificationRegister));
        Write(EduDevice.LivenessRegister, 0x1357_9BDF);
        Assert.Equal(~0x1357_9BDFu, Read(EduDevice.LivenessRegister));
        Write(EduDevice.IdentificationRegister, 0);
        Assert.Equal(EduDevice.Identification, Read(EduDevice.IdentificationRegister)); // read-only
        Assert.Equal(0xFFFF_FFFFu, Read(0x0C));                                       // no register there
        Assert.Equal(ulong.MaxValue, _rig.Memory.ReadQuadWord(new PhysicalAddress(Bar + EduDevice.StatusRegister))); // 8 bytes below 80h
        _rig.Memory.WriteQuadWord(new PhysicalAddress(Bar + EduDevice.StatusRegister), EduDevice.StatusInterruptOnFactorial); // ignored
        Assert.Equal(0u, Read(EduDevice.StatusRegister));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(5u)]
    [InlineData(12u)]
    [InlineData(13u)] // overflows 32 bits
    public void Factorial_IsReadyAfterItsDelay_WithTheComputingBitMeanwhile(uint n)
    {
        uint expected = 1;
        for (uint i = 2; i <= n; i++)
        {
            expected = unchecked(expected * i);
        }

        Write(EduDevice.FactorialRegister, n);
        Assert.Equal(EduDevice.StatusComputing, Read(EduDevice.StatusRegister) & EduDevice.StatusComputing);
        Write(EduDevice.FactorialRegister, 99); // ignored while computing
        _clock.Advance(EduDevice.FactorialDelayNanoseconds - 1);
        Assert.Equal(EduDevice.StatusComputing, Read(EduDevice.StatusRegister));
        _clock.Advance(1);
        Assert.Equal(0u, Read(EduDevice.StatusRegister));
        Assert.Equal(expected, Read(EduDevice.FactorialRegister));
        Assert.False(IntA.IsAsserted); // no interrupt asked for
    }

    [Fact]
    public void FactorialInterrupt_RaisesIntA_UntilAcknowledged()
    {
        Write(EduDevice.StatusRegister, EduDevice.StatusInterruptOnFactorial | EduDevice.StatusComputing); // bit 0 is not the guest's
        Assert.Equal(EduDevice.StatusInterruptOnFactorial, Read(EduDevice.StatusRegister));
        Write(EduDevice.FactorialRegister, 4);
        _clock.Advance(EduDevice.FactorialDelayNanoseconds);
        Assert.Equal(24u, Read(EduDevice.FactorialRegister));
        Assert.Equal(EduDevice.FactorialInterrupt, Read(EduDevice.InterruptStatusRegister));
        Assert.True(IntA.IsAsserted);
        Write(EduDevice.InterruptAcknowledgeRegister, EduDevice.FactorialInterrupt);
        Assert.False(IntA.IsAsserted);
        Assert.Equal(0u, Read(EduDevice.InterruptStatusRegister));
    }

    [Fact]
    public void RaiseAndAcknowledge_OrAndClearBits_IntALevelFollowsTheStatus()
    {
        Write(EduDevice.InterruptRaiseRegister, 0x11);
        Write(EduDevice.InterruptRaiseRegister, 0x100);
        Assert.Equal(0x111u, Read(EduDevice.InterruptStatusRegister));
        Assert.True(IntA.IsAsserted);
        Write(EduDevice.InterruptAcknowledgeRegister, 0x101);
        Assert.Equal(0x10u, Read(EduDevice.InterruptStatusRegister));
        Assert.True(IntA.IsAsserted);
        Write(EduDevice.InterruptAcknowledgeRegister, 0x10);
        Assert.False(IntA.IsAsserted);
        Assert.Equal(0xFFFF_FFFFu, Read(EduDevice.InterruptRaiseRegister)); // write-only
        Write(EduDevice.InterruptRaiseRegister, 0);                          // nothing to raise
        Assert.False(IntA.IsAsserted);
    }

    [Fact]
    public void WithMsiEnabled_EachRaiseSendsAMessage_AndIntAStaysLow()
    {
        _rig.WriteConfig(Slot, 0, EduDevice.MsiCapabilityOffset + 4, 4, 0xFEE0_0000);
        _rig.WriteConfig(Slot, 0, EduDevice.MsiCapabilityOffset + 8, 4, 0);
        _rig.WriteConfig(Slot, 0, EduDevice.MsiCapabilityOffset + 12, 2, 0x41);
        _rig.WriteConfig(Slot, 0, EduDevice.MsiCapabilityOffset + 2, 2, 1);
        Write(EduDevice.InterruptRaiseRegister, 0x2);
        Write(EduDevice.InterruptRaiseRegister, 0x4);
        Assert.Equal([(0xFEE0_0000UL, 0x41u), (0xFEE0_0000UL, 0x41u)], _msi.Messages);
        Assert.False(IntA.IsAsserted);
        Assert.Equal(0x6u, Read(EduDevice.InterruptStatusRegister));
    }

    [Fact]
    public void Dma_RoundTripsThroughTheBuffer_WithCompletionInterrupt()
    {
        byte[] pattern = [.. Enumerable.Range(0, 100).Select(i => (byte)(i * 7 + 3))];
        _rig.Memory.Write(new PhysicalAddress(Ram), pattern);

        StartDma(Ram, EduDevice.DmaBufferAddress, 100, EduDevice.DmaStart);
        Assert.Equal(EduDevice.DmaStart, _rig.Memory.ReadQuadWord(new PhysicalAddress(Bar + EduDevice.DmaCommandRegister)));
        Write(EduDevice.DmaCountRegister, 1);                                   // frozen while running
        _clock.Advance(EduDevice.DmaDelayNanoseconds);
        Assert.Equal(0ul, _rig.Memory.ReadQuadWord(new PhysicalAddress(Bar + EduDevice.DmaCommandRegister)));
        Assert.Equal(100ul, _rig.Memory.ReadQuadWord(new PhysicalAddress(Bar + EduDevice.DmaCountRegister)));
        Assert.False(IntA.IsAsserted);

        StartDma(EduDevice.DmaBufferAddress, Ram + 0x1000 + 100, 100, EduDevice.DmaStart | EduDevice.DmaToRam | EduDevice.DmaInterruptOnCompletion);
        _clock.Advance(EduDevice.DmaDelayNanoseconds);
        byte[] copied = new byte[100];
        _rig.Memory.Read(new PhysicalAddress(Ram + 0x1000 + 100), copied);
        Assert.Equal(pattern, copied);
        Assert.Equal(EduDevice.DmaInterrupt, Read(EduDevice.InterruptStatusRegister));
        Assert.True(IntA.IsAsserted);
        Assert.Equal(0, _card.RefusedDmaCount);
    }

    [Theory]
    [InlineData(EduDevice.DmaBufferAddress - 1, 16ul)]                       // starts before the buffer
    [InlineData(EduDevice.DmaBufferAddress + 4090, 16ul)]                    // runs past its end
    [InlineData(EduDevice.DmaBufferAddress, 4097ul)]                         // longer than the buffer
    [InlineData(ulong.MaxValue - 2, 16ul)]                                   // wraps
    public void Dma_OutsideTheBuffer_MovesNothing_AndStillCompletes(ulong bufferAddress, ulong count)
    {
        byte[] before = new byte[32];
        _rig.Memory.Read(new PhysicalAddress(Ram), before);
        StartDma(bufferAddress, Ram, count, EduDevice.DmaStart | EduDevice.DmaToRam | EduDevice.DmaInterruptOnCompletion);
        _clock.Advance(EduDevice.DmaDelayNanoseconds);
        byte[] after = new byte[32];
        _rig.Memory.Read(new PhysicalAddress(Ram), after);
        Assert.Equal(before, after);
        Assert.Equal(1, _card.RefusedDmaCount);
        Assert.True(IntA.IsAsserted);
    }

    [Fact]
    public void Dma_NeedsBusMastering_AndMasksGuestAddresses()
    {
        _rig.Memory.Write(new PhysicalAddress(Ram), [1, 2, 3, 4]);
        _rig.WriteConfig(Slot, 0, PciConfigurationRegisters.Command, 2, PciConfigurationRegisters.CommandMemorySpace);
        StartDma(Ram, EduDevice.DmaBufferAddress, 4, EduDevice.DmaStart);
        _clock.Advance(EduDevice.DmaDelayNanoseconds);
        Assert.Equal(1, _card.RefusedDmaCount);

        _rig.WriteConfig(Slot, 0, PciConfigurationRegisters.Command, 2, PciConfigurationRegisters.CommandMemorySpace | PciConfigurationRegisters.CommandBusMaster);
        StartDma(Ram | (1UL << 40), EduDevice.DmaBufferAddress, 4, EduDevice.DmaStart); // bits above the 28-bit mask are dropped
        _clock.Advance(EduDevice.DmaDelayNanoseconds);
        StartDma(EduDevice.DmaBufferAddress, Ram + 0x100, 4, EduDevice.DmaStart | EduDevice.DmaToRam);
        _clock.Advance(EduDevice.DmaDelayNanoseconds);
        byte[] copied = new byte[4];
        _rig.Memory.Read(new PhysicalAddress(Ram + 0x100), copied);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, copied);
        Assert.Equal(1, _card.RefusedDmaCount);
    }

    [Fact]
    public void Reset_ClearsRegistersAndCancelsWork()
    {
        Write(EduDevice.FactorialRegister, 3);
        Write(EduDevice.InterruptRaiseRegister, 1);
        _card.Reset();
        Assert.False(IntA.IsAsserted);
        _clock.Advance(EduDevice.FactorialDelayNanoseconds);
        EduDeviceState state = _card.SaveState();
        Assert.Null(state.FactorialDeadlineNanoseconds);
        Assert.Equal(0u, state.Status);
        Assert.Equal(0u, state.Factorial);
        Assert.Equal(0u, state.InterruptStatus);
        Assert.Equal(0u, _rig.ReadConfig(Slot, 0, PciConfigurationRegisters.Bar0, 4));
    }

    [Property(MaxTest = 100)]
    public bool State_RoundTrips_IncludingPendingWork(byte[] program)
    {
        for (int i = 0; i + 5 < program.Length; i += 6)
        {
            int[] registers = [0x04, 0x08, 0x20, 0x60, 0x64, 0x80, 0x88, 0x90, 0x98];
            int register = registers[program[i] % registers.Length];
            uint value = BitConverter.ToUInt32(program, i + 1) % 0x5_0000;
            if ((program[i + 5] & 1) != 0)
            {
                _clock.Advance(program[i + 5] * 1000L);
            }
            else
            {
                Write(register, value);
            }
        }

        EduDeviceState saved = _card.SaveState();
        var clock = new ManualClock();
        clock.AdvanceTo(_clock.NowNanoseconds);
        var copy = new EduDevice(clock);
        _ = new PciTestRig(new RecordingRouter(), (copy, Slot, 0));
        copy.RestoreState(saved);
        bool same = copy.SaveState().Equals(saved) && saved.Equals(saved with { Buffer = [.. saved.Buffer] });

        // The pending work completes in both at the same time.
        clock.Advance(EduDevice.DmaDelayNanoseconds);
        _clock.Advance(EduDevice.DmaDelayNanoseconds);
        EduDeviceState a = copy.SaveState();
        EduDeviceState b = _card.SaveState();
        return same && a.Status == b.Status && a.DmaCommand == b.DmaCommand && a.InterruptStatus == b.InterruptStatus && a.Factorial == b.Factorial;
    }

    [Fact]
    public void RestoreState_RefusesBadRecords()
    {
        EduDeviceState good = _card.SaveState();
        Assert.Throws<ArgumentException>(() => _card.RestoreState(good with { Version = 99 }));
        Assert.Throws<ArgumentException>(() => _card.RestoreState(good with { Buffer = new byte[10] }));
        Assert.Throws<ArgumentException>(() => _card.RestoreState(good with { Status = EduDevice.StatusComputing }));
        Assert.Throws<ArgumentException>(() => _card.RestoreState(good with { DmaDeadlineNanoseconds = 5 }));
        Assert.Equal(good, _card.SaveState());
        Assert.Throws<ArgumentOutOfRangeException>(() => new EduDevice(_clock, dmaMask: 0));
    }

    private void StartDma(ulong source, ulong destination, ulong count, ulong command)
    {
        _rig.Memory.WriteQuadWord(new PhysicalAddress(Bar + EduDevice.DmaSourceRegister), source);
        _rig.Memory.WriteQuadWord(new PhysicalAddress(Bar + EduDevice.DmaDestinationRegister), destination);
        _rig.Memory.WriteQuadWord(new PhysicalAddress(Bar + EduDevice.DmaCountRegister), count);
        _rig.Memory.WriteQuadWord(new PhysicalAddress(Bar + EduDevice.DmaCommandRegister), command);
    }

    private uint Read(int register) => _rig.Memory.ReadDoubleWord(new PhysicalAddress(Bar + (uint)register));

    private void Write(int register, uint value) => _rig.Memory.WriteDoubleWord(new PhysicalAddress(Bar + (uint)register), value);

    private sealed class RecordingMsiTarget : IMsiTarget
    {
        public List<(ulong Address, uint Data)> Messages { get; } = [];

        public void DeliverMessage(ulong address, uint data, PciFunctionAddress source) => Messages.Add((address, data));
    }
}
