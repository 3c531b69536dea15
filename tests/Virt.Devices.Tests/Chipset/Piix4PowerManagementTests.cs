using FsCheck.Xunit;
using Virt.Devices.Tests.Fakes;
using Virt.Devices.Tests.Pci;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Chipset;

/// <summary>The PIIX4 power-management function against Intel 290562 (PMBA, PMSTS/PMEN/PMCNTRL, PMTMR) and QEMU's pc board.</summary>
public sealed class Piix4PowerManagementTests
{
    private const ushort PmBase = 0x600;
    private readonly ManualClock _clock = new();
    private readonly RecordingInterruptLine _sci = new();
    private readonly RecordingPlatformControl _platform = new();
    private readonly Piix4PowerManagement _pm;
    private readonly PciTestRig _rig;

    public Piix4PowerManagementTests()
    {
        _pm = new Piix4PowerManagement(_sci, _clock, _platform);
        _rig = new PciTestRig(null, (_pm, 1, 3));
        foreach (PortBinding binding in _pm.PortBindings)
        {
            _rig.Ports.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
        }
    }

    private IoPortSpace Ports => _rig.Ports;

    private void EnablePmBlock()
    {
        _rig.WriteConfig(1, 3, Piix4PowerManagement.PmBaseAddress, 4, PmBase);
        _rig.WriteConfig(1, 3, Piix4PowerManagement.PmRegisterMisc, 1, 1);
    }

    [Fact]
    public void Identity_AndPmbaResetValue()
    {
        Assert.Equal(0x7113_8086u, _rig.ReadConfig(1, 3, 0, 4));
        Assert.Equal(0x0680_0003u, _rig.ReadConfig(1, 3, 8, 4)); // bridge/other class, revision 03h
        Assert.Equal(0x01u, _rig.ReadConfig(1, 3, 0x3D, 1)); // INTA#, as QEMU
        Assert.Equal(0x0000_0001u, _rig.ReadConfig(1, 3, 0x40, 4)); // PMBA: I/O space indicator only
        _rig.WriteConfig(1, 3, 0x40, 4, 0xFFFF_FFFF);
        Assert.Equal(0x0000_FFC1u, _rig.ReadConfig(1, 3, 0x40, 4)); // 64-port block: bits 15:6
        Assert.Equal(0x0000_0001u, _rig.ReadConfig(1, 3, 0x90, 4)); // SMBBA
    }

    [Fact]
    public void Devactb_ComesOutOfResetWithApmcEnSet_SoFirmwareSkipsSmmSetUp()
    {
        // Virt has no SMM: APMC_EN (bit 25) set at reset tells SeaBIOS that SMM is already set up (QEMU with SMM off).
        Assert.Equal(Piix4PowerManagement.ApmcSmiEnable, _rig.ReadConfig(1, 3, Piix4PowerManagement.DeviceActivityB, 4));
        _rig.WriteConfig(1, 3, Piix4PowerManagement.DeviceActivityB, 4, 0);
        Assert.Equal(0u, _rig.ReadConfig(1, 3, Piix4PowerManagement.DeviceActivityB, 4));
        _pm.Reset();
        Assert.Equal(Piix4PowerManagement.ApmcSmiEnable, _rig.ReadConfig(1, 3, Piix4PowerManagement.DeviceActivityB, 4));
    }

    [Fact]
    public void Subsystem_IsQemus_AsEveryFunctionOfItsPcBoard()
    {
        Assert.Equal(((uint)I440fxHostBridge.QemuSubsystemId << 16) | I440fxHostBridge.QemuSubsystemVendorId, _rig.ReadConfig(1, 3, 0x2C, 4));
    }

    [Fact]
    public void PmBlock_IsDecodedAtPmbaOnlyWhilePmiose()
    {
        _rig.WriteConfig(1, 3, 0x40, 4, PmBase);
        Assert.False(Ports.IsRegistered(PmBase));
        _rig.WriteConfig(1, 3, 0x80, 1, 1);
        Assert.True(Ports.IsRegistered(PmBase + 0x3F));
        Assert.Equal((ushort)PmBase, _pm.PmBlockPort);
        _rig.WriteConfig(1, 3, 0x40, 4, 0xB000);
        Assert.False(Ports.IsRegistered(PmBase));
        Assert.True(Ports.IsRegistered(0xB008));
        _rig.WriteConfig(1, 3, 0x80, 1, 0);
        Assert.False(Ports.IsRegistered(0xB008));
    }

    [Fact]
    public void PmTimer_Counts3579545PerSecond_On24Bits()
    {
        EnablePmBlock();
        Assert.Equal(0u, Ports.ReadDoubleWord(PmBase + 8));
        _clock.Advance(1_000_000_000);
        Assert.Equal(3_579_545u, Ports.ReadDoubleWord(PmBase + 8));
        _clock.Advance(1_000); // 1 µs = 3.58 counts: floor(1.000001 s × 3579545 Hz) = 3579548
        Assert.Equal(3_579_548u, Ports.ReadDoubleWord(PmBase + 8));
        _clock.AdvanceTo(5_000_000_000); // 17,897,725 counts: past 2^24 = 16,777,216
        Assert.Equal(17_897_725u - (1u << 24), Ports.ReadDoubleWord(PmBase + 8));
        Assert.Equal((17_897_725u - (1u << 24)) & 0xFFFF, Ports.ReadWord(PmBase + 8));
    }

    [Fact]
    public void TimerOverflow_SetsTmrofStsEvery2To23Counts_AndRaisesSciWhenEnabled()
    {
        EnablePmBlock();
        // 2^23 counts = 2,343,484, ... ns: the first carry of bit 23 comes between 2.34 s and 2.35 s.
        _clock.AdvanceTo(2_340_000_000);
        Assert.Equal(0, Ports.ReadWord(PmBase) & 1);
        _clock.AdvanceTo(2_350_000_000);
        Assert.Equal(1, Ports.ReadWord(PmBase) & 1);
        Assert.False(_sci.IsAsserted); // TMROF_EN clear
        Ports.WriteWord(PmBase, 1); // write 1 to clear
        Assert.Equal(0, Ports.ReadWord(PmBase) & 1);

        Ports.WriteWord(PmBase + 2, 1); // TMROF_EN
        Assert.Equal(1, Ports.ReadWord(PmBase + 2));
        _clock.AdvanceTo(4_690_000_000); // the second carry comes at 2 × 2^23 counts, 4.687 s: the timer fires there
        Assert.True(_sci.IsAsserted);
        Ports.WriteWord(PmBase, 1);
        Assert.False(_sci.IsAsserted);
        Ports.WriteWord(PmBase + 2, 0);
        _clock.AdvanceTo(10_000_000_000);
        Assert.False(_sci.IsAsserted);
        Assert.Equal(1, Ports.ReadWord(PmBase) & 1); // status still set, without the SCI
    }

    [Fact]
    public void SlpEnWithSlpTypZero_PowersOff_AndSlpEnReadsZero()
    {
        EnablePmBlock();
        Ports.WriteWord(PmBase + 4, 0x0001); // SCI_EN
        Assert.Empty(_platform.PowerOffRequests);
        Ports.WriteWord(PmBase + 4, 0x2001); // SLP_TYP 0 (QEMU's _S5), SLP_EN
        Assert.Single(_platform.PowerOffRequests);
        Assert.Equal(0x0001, Ports.ReadWord(PmBase + 4));
    }

    [Theory]
    [InlineData(2, true)] // QEMU's S4 value: also a power-off
    [InlineData(1, false)] // S3: not supported, ignored
    [InlineData(5, false)]
    public void OtherSleepTypes(int sleepType, bool powersOff)
    {
        EnablePmBlock();
        Ports.WriteWord(PmBase + 4, (ushort)((sleepType << 10) | 0x2000));
        Assert.Equal(powersOff ? 1 : 0, _platform.PowerOffRequests.Count);
        Assert.Equal(powersOff ? 0 : 1, _pm.IgnoredSleepRequestCount);
        Assert.Equal((ushort)(sleepType << 10), Ports.ReadWord(PmBase + 4));
    }

    [Fact]
    public void PowerButton_RaisesSciOnlyWhenEnabled()
    {
        EnablePmBlock();
        _pm.PressPowerButton();
        Assert.False(_sci.IsAsserted);
        Assert.Equal(0x0100, Ports.ReadWord(PmBase) & 0x0100);
        Ports.WriteWord(PmBase + 2, 0x0100);
        Assert.True(_sci.IsAsserted);
        Ports.WriteByte(PmBase + 1, 0x01); // byte write of 1 to bit 8 clears it
        Assert.False(_sci.IsAsserted);
    }

    [Fact]
    public void Gpe0Block_AtAfe0h_StatusWriteOneToClear_EnableRaisesSci()
    {
        _pm.RaiseGeneralPurposeEvent(0x0002);
        Assert.Equal(0x0002, Ports.ReadWord(0xAFE0));
        Assert.False(_sci.IsAsserted);
        Ports.WriteWord(0xAFE2, 0x0002);
        Assert.Equal(0x0002, Ports.ReadWord(0xAFE2));
        Assert.True(_sci.IsAsserted);
        Ports.WriteWord(0xAFE0, 0x0002);
        Assert.Equal(0, Ports.ReadWord(0xAFE0));
        Assert.False(_sci.IsAsserted);
    }

    [Fact]
    public void ApmControl_AcpiEnableAndDisableSetSciEn()
    {
        EnablePmBlock();
        Ports.WriteByte(0xB2, Piix4PowerManagement.AcpiEnableCommand);
        Assert.Equal(1, Ports.ReadWord(PmBase + 4) & 1);
        Assert.Equal(Piix4PowerManagement.AcpiEnableCommand, Ports.ReadByte(0xB2));
        Ports.WriteByte(0xB2, Piix4PowerManagement.AcpiDisableCommand);
        Assert.Equal(0, Ports.ReadWord(PmBase + 4) & 1);
        Ports.WriteByte(0xB3, 0x5A);
        Assert.Equal(0x5A, Ports.ReadByte(0xB3));
    }

    [Fact]
    public void Reset_ClearsEverythingAndUnmapsTheBlock()
    {
        EnablePmBlock();
        Ports.WriteWord(PmBase + 2, 0x0521);
        _pm.PressPowerButton();
        Assert.True(_sci.IsAsserted);
        _pm.Reset();
        Assert.False(_sci.IsAsserted);
        Assert.False(Ports.IsRegistered(PmBase));
        Assert.Null(_pm.PmBlockPort);
    }

    [Property(MaxTest = 100)]
    public bool State_RoundTrips(byte[] program)
    {
        var clock = new ManualClock();
        var pm = new Piix4PowerManagement(new RecordingInterruptLine(), clock, new RecordingPlatformControl());
        var rig = new PciTestRig(null, (pm, 1, 3));
        rig.WriteConfig(1, 3, 0x40, 4, PmBase);
        rig.WriteConfig(1, 3, 0x80, 1, 1);
        for (int i = 0; i + 2 < program.Length; i += 3)
        {
            int offset = program[i] % 0x40;
            if (offset is 4 or 5)
            {
                continue; // PMCNTRL may power off; covered above
            }

            if ((program[i + 2] & 1) != 0)
            {
                rig.Ports.WriteByte((ushort)(PmBase + offset), program[i + 1]);
            }
            else
            {
                clock.Advance(program[i + 1] * 40_000_000L);
            }
        }

        Piix4PowerManagementState saved = pm.SaveState();
        var copySci = new RecordingInterruptLine();
        var copy = new Piix4PowerManagement(copySci, clock, new RecordingPlatformControl());
        var copyRig = new PciTestRig(null, (copy, 1, 3));
        copy.RestoreState(saved);
        return copy.SaveState().Equals(saved) && copy.PmBlockPort == pm.PmBlockPort && copySci.IsAsserted == pm.IsSciAsserted;
    }
}
