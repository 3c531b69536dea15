using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Chipset;

/// <summary>The 82441FX host bridge against Intel 290549 (3.2): identity, PAM (3.2.18), SMRAM (3.2.23).</summary>
public sealed class I440fxHostBridgeTests
{
    private readonly RecordingShadow _shadow = new();
    private readonly I440fxHostBridge _bridge;

    public I440fxHostBridgeTests()
    {
        _bridge = new I440fxHostBridge(_shadow);
        _bridge.Reset();
    }

    [Fact]
    public void Identity_AndResetValues()
    {
        Assert.Equal(0x1237_8086u, _bridge.ReadConfiguration(0x00, 4));
        Assert.Equal(0x0600_0002u, _bridge.ReadConfiguration(0x08, 4)); // host bridge class, revision 02h
        Assert.Equal(0x0006u, _bridge.ReadConfiguration(0x04, 2));
        Assert.Equal(0x0280u, _bridge.ReadConfiguration(0x06, 2));
        Assert.Equal(0x02u, _bridge.ReadConfiguration(I440fxHostBridge.SmramControl, 1));
        Assert.Equal(0x0101_0101u, _bridge.ReadConfiguration(0x60, 4)); // DRB0-3
        Assert.Equal(0x1100_1AF4u, _bridge.ReadConfiguration(0x2C, 4)); // QEMU's subsystem: SeaBIOS's "Running on QEMU"
        for (int i = 0; i < I440fxHostBridge.PamRegisterCount; i++)
        {
            Assert.Equal(0u, _bridge.ReadConfiguration(I440fxHostBridge.Pam0 + i, 1));
        }
    }

    [Fact]
    public void PamSegments_CoverTheBiosAreaInOrder()
    {
        IReadOnlyList<PamSegment> segments = I440fxHostBridge.PamSegments;
        Assert.Equal(13, segments.Count);
        Assert.Equal(0xC0000u, segments[0].Start);
        Assert.Equal((0x5A, 0), (segments[0].Register, segments[0].Shift));
        Assert.Equal((0x5A, 4), (segments[1].Register, segments[1].Shift)); // C4000h: PAM1 high nibble
        Assert.Equal((0x5F, 4), (segments[11].Register, segments[11].Shift)); // EC000h
        Assert.Equal((0xF0000u, 0x10000u, 0x59, 4), (segments[12].Start, segments[12].SizeInBytes, segments[12].Register, segments[12].Shift));
        for (int i = 1; i < segments.Count; i++)
        {
            Assert.Equal(segments[i - 1].Start + segments[i - 1].SizeInBytes, segments[i].Start);
        }
    }

    [Fact]
    public void PamWrites_RouteEachSegment()
    {
        _shadow.Modes.Clear();
        // PAM0 = 30h: F0000h-FFFFFh read and write DRAM; the low nibble is reserved.
        _bridge.WriteConfiguration(0x59, 1, 0x3F);
        Assert.Equal(0x30u, _bridge.ReadConfiguration(0x59, 1));
        Assert.Equal(ShadowMode.ReadWriteRam, _shadow.Modes["pam-f0000"]);
        // PAM1 = 21h: C0000h reads DRAM (RE) and writes go to PCI; C4000h reads PCI (ROM), writes DRAM (WE).
        _bridge.WriteConfiguration(0x5A, 1, 0x21);
        Assert.Equal(ShadowMode.ReadFromRam, _shadow.Modes["pam-c0000"]);
        Assert.Equal(ShadowMode.ReadRomWriteRam, _shadow.Modes["pam-c4000"]);
        Assert.Equal(ShadowMode.ReadFromRam, _bridge.GetShadowMode(0));
        // A dword write over PAM3-PAM6 sets E0000h-EFFFFh too; bits 3:2 and 7:6 are reserved.
        _bridge.WriteConfiguration(0x5C, 4, 0xFFFF_FFFF);
        Assert.Equal(0x3333_3333u, _bridge.ReadConfiguration(0x5C, 4));
        Assert.Equal(ShadowMode.ReadWriteRam, _shadow.Modes["pam-ec000"]);
        _bridge.Reset();
        Assert.All(I440fxHostBridge.PamSegments, s => Assert.Equal(ShadowMode.ReadRomWriteIgnored, _shadow.Modes[s.RegionName]));
    }

    [Fact]
    public void Smram_LockMakesOpenAndLockReadOnlyUntilReset()
    {
        _bridge.WriteConfiguration(I440fxHostBridge.SmramControl, 1, 0xFF);
        // Bit 7 reserved, C_BASE_SEG fixed at 010b; D_LCK was written with D_OPEN, so D_OPEN reads 0.
        Assert.Equal(0x3Au, _bridge.ReadConfiguration(I440fxHostBridge.SmramControl, 1));
        // Locked: D_OPEN, D_LCK and G_SMRAME can no longer change; D_CLS still can.
        _bridge.WriteConfiguration(I440fxHostBridge.SmramControl, 1, I440fxHostBridge.SmramOpen);
        Assert.Equal((uint)(I440fxHostBridge.SmramLock | I440fxHostBridge.SmramEnable | I440fxHostBridge.SmramBaseSegment), _bridge.ReadConfiguration(I440fxHostBridge.SmramControl, 1));
        _bridge.Reset();
        Assert.Equal(0x02u, _bridge.ReadConfiguration(I440fxHostBridge.SmramControl, 1));
        _bridge.WriteConfiguration(I440fxHostBridge.SmramControl, 1, I440fxHostBridge.SmramOpen | I440fxHostBridge.SmramEnable);
        Assert.Equal(0x4Au, _bridge.ReadConfiguration(I440fxHostBridge.SmramControl, 1)); // unlocked: D_OPEN sticks
    }

    [Property(MaxTest = 100)]
    public bool State_RoundTrips_AndReappliesPam(byte[] program)
    {
        var bridge = new I440fxHostBridge(new RecordingShadow());
        bridge.Reset();
        for (int i = 0; i + 1 < program.Length; i += 2)
        {
            bridge.WriteConfiguration(0x50 + (program[i] % 0x30), 1, program[i + 1]);
        }

        I440fxHostBridgeState saved = bridge.SaveState();
        var shadow = new RecordingShadow();
        var copy = new I440fxHostBridge(shadow);
        copy.Reset();
        copy.RestoreState(saved);
        return copy.SaveState() == saved
            && I440fxHostBridge.PamSegments.Select((s, i) => shadow.Modes[s.RegionName] == bridge.GetShadowMode(i)).All(b => b)
            && copy.ReadConfiguration(I440fxHostBridge.SmramControl, 1) == bridge.ReadConfiguration(I440fxHostBridge.SmramControl, 1);
    }

    [Fact]
    public void ShadowSegments_InARealMap_SwitchBetweenRomAndRam()
    {
        byte[] rom = new byte[0x10000];
        rom[0] = 0xEA;
        var builder = new PhysicalMemoryMapBuilder();
        foreach (PamSegment s in I440fxHostBridge.PamSegments)
        {
            builder.AddShadowableRom(s.RegionName, new PhysicalAddress(s.Start), s.SizeInBytes, s.Start == 0xF0000 ? rom : []);
        }

        PhysicalMemoryMap map = builder.Build();
        var bridge = new I440fxHostBridge(new MapShadow(map));
        bridge.Reset();
        var f0000 = new PhysicalAddress(0xF0000);
        map.WriteByte(f0000, 0x11);
        Assert.Equal(0xEA, map.ReadByte(f0000)); // PAM 00: ROM, write ignored
        bridge.WriteConfiguration(0x59, 1, 0x20); // write-only DRAM: the BIOS copies itself
        map.WriteByte(f0000, map.ReadByte(f0000));
        Assert.Equal(0xEA, map.ReadByte(f0000));
        bridge.WriteConfiguration(0x59, 1, 0x10); // read-only DRAM: the shadow copy, write-protected
        map.WriteByte(f0000, 0x22);
        Assert.Equal(0xEA, map.ReadByte(f0000));
        bridge.WriteConfiguration(0x59, 1, 0x30);
        map.WriteByte(f0000, 0x33);
        Assert.Equal(0x33, map.ReadByte(f0000));
        bridge.WriteConfiguration(0x59, 1, 0x00);
        Assert.Equal(0xEA, map.ReadByte(f0000));
    }

    private sealed class RecordingShadow : IShadowMemoryControl
    {
        public Dictionary<string, ShadowMode> Modes { get; } = [];

        public void SetShadowMode(string regionName, ShadowMode mode) => Modes[regionName] = mode;
    }

    private sealed class MapShadow(PhysicalMemoryMap map) : IShadowMemoryControl
    {
        public void SetShadowMode(string regionName, ShadowMode mode) => map.SetShadowMode(regionName, mode);
    }
}
