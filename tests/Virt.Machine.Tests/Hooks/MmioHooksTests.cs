using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Machine.Tests.Snapshots;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Hooks;

/// <summary><see cref="MachineHooks.AddMmioReadHook"/> and <see cref="MachineHooks.AddMmioWriteHook"/> on custom devices and the VGA window.</summary>
public sealed class MmioHooksTests
{
    private const ushort Origin = HookTestMachine.Origin;
    private const uint Result = 0x500;

    /// <summary>The custom device's window: D0000h, free on a 1 MiB machine without firmware.</summary>
    private const ulong DeviceBase = 0xD0000;
    private const ushort DeviceSegment = (ushort)(DeviceBase >> 4);

    private static readonly PhysicalAddress s_register = new(DeviceBase + 0x10);

    [Fact]
    public void ReadHookReplacesTheValueTheGuestSeesAndSeesTheDevicesValue()
    {
        (Machine machine, ScratchMmioDevice device) = Build(ReadRegisterAndStore());
        using (machine)
        {
            device.Bytes[0x10] = 0x5A;
            var seen = new List<(PhysicalAddress Address, int Width, ulong Value)>();
            using IDisposable hook = machine.Hooks.AddMmioReadHook(s_register, s_register, (address, width, value) =>
            {
                seen.Add((address, width, value));
                return 0x42;
            });

            Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
            Assert.Equal([(s_register, 1, 0x5AUL)], seen);
            Assert.Equal(0x42, machine.Memory.ReadByte(new PhysicalAddress(Result)));
        }
    }

    [Fact]
    public void AHookOutsideTheAccessIsNotCalledAndOneOverlappingItIs()
    {
        (Machine machine, ScratchMmioDevice device) = Build(ReadRegisterAndStore());
        using (machine)
        {
            device.Bytes[0x10] = 0x5A;
            int before = 0;
            int overlapping = 0;
            using IDisposable below = machine.Hooks.AddMmioReadHook(new PhysicalAddress(DeviceBase), new PhysicalAddress(DeviceBase + 0xF), (_, _, value) =>
            {
                before++;
                return 0;
            });
            using IDisposable wide = machine.Hooks.AddMmioReadHook(new PhysicalAddress(DeviceBase + 0x8), new PhysicalAddress(DeviceBase + 0x10), (_, _, value) =>
            {
                overlapping++;
                return value;
            });

            machine.Run(maxInstructions: 1000);
            Assert.Equal(0, before);
            Assert.Equal(1, overlapping);
            Assert.Equal(0x5A, machine.Memory.ReadByte(new PhysicalAddress(Result)));
        }
    }

    [Fact]
    public void WriteHookReplacesTheValueTheDeviceReceives()
    {
        (Machine machine, ScratchMmioDevice device) = Build(WriteRegister(0x1234));
        using (machine)
        {
            using IDisposable hook = machine.Hooks.AddMmioWriteHook(s_register, s_register, (PhysicalAddress address, int width, ref ulong value) =>
            {
                Assert.Equal(2, width);
                Assert.Equal(0x1234UL, value);
                value = 0xBEEF;
                return true;
            });

            machine.Run(maxInstructions: 1000);
            Assert.Equal([(true, 0x10UL, 2, 0xBEEFUL)], device.Accesses);
        }
    }

    [Fact]
    public void WriteHookCanSuppressTheWriteAndLaterHooksAreNotCalled()
    {
        (Machine machine, ScratchMmioDevice device) = Build(WriteRegister(0x1234));
        using (machine)
        {
            int later = 0;
            using IDisposable first = machine.Hooks.AddMmioWriteHook(s_register, s_register, (PhysicalAddress _, int _, ref ulong _) => false);
            using IDisposable second = machine.Hooks.AddMmioWriteHook(s_register, s_register, (PhysicalAddress _, int _, ref ulong _) =>
            {
                later++;
                return true;
            });

            machine.Run(maxInstructions: 1000);
            Assert.Empty(device.Accesses);
            Assert.Equal(0, later);
        }
    }

    [Fact]
    public void HooksComposeInTheOrderAdded()
    {
        (Machine machine, ScratchMmioDevice device) = Build(GuestPrograms.Assemble16(Origin, a =>
        {
            EnterDeviceSegment(a);
            a.mov(__word_ptr[0x10], 0x0005);
            a.mov(al, __byte_ptr[0x20]);
            a.xor(bx, bx);
            a.mov(ds, bx);
            a.mov(__byte_ptr[Result], al);
            Halt(a);
        }));
        using (machine)
        {
            using IDisposable w1 = machine.Hooks.AddMmioWriteHook(s_register, s_register, (PhysicalAddress _, int _, ref ulong value) =>
            {
                value += 1;
                return true;
            });
            using IDisposable w2 = machine.Hooks.AddMmioWriteHook(s_register, s_register, (PhysicalAddress _, int _, ref ulong value) =>
            {
                value *= 10;
                return true;
            });
            var byte20 = new PhysicalAddress(DeviceBase + 0x20);
            using IDisposable r1 = machine.Hooks.AddMmioReadHook(byte20, byte20, (_, _, _) => 0x10);
            using IDisposable r2 = machine.Hooks.AddMmioReadHook(byte20, byte20, (_, _, value) => value * 3);

            machine.Run(maxInstructions: 1000);

            // (5 + 1) × 10 = 60; the other order would give 51. Reads: 0x10 then ×3; the other order gives 0x10.
            Assert.Equal([(true, 0x10UL, 2, 60UL), (false, 0x20UL, 1, 0UL)], device.Accesses);
            Assert.Equal(0x30, machine.Memory.ReadByte(new PhysicalAddress(Result)));
        }
    }

    [Fact]
    public void ARemovedHookNoLongerAppliesAndLeavesNoInterceptor()
    {
        (Machine machine, ScratchMmioDevice device) = Build(ReadRegisterAndStore());
        using (machine)
        {
            device.Bytes[0x10] = 0x5A;
            IDisposable read = machine.Hooks.AddMmioReadHook(s_register, s_register, (_, _, _) => 0x42);
            IDisposable write = machine.Hooks.AddMmioWriteHook(s_register, s_register, (PhysicalAddress _, int _, ref ulong _) => false);
            Assert.NotNull(machine.Memory.MmioInterceptor);
            read.Dispose();
            Assert.NotNull(machine.Memory.MmioInterceptor);    // the write hook is still there
            write.Dispose();
            write.Dispose();                                   // a second dispose does nothing
            Assert.Null(machine.Memory.MmioInterceptor);

            machine.Run(maxInstructions: 1000);
            Assert.Equal(0x5A, machine.Memory.ReadByte(new PhysicalAddress(Result)));
        }
    }

    [Fact]
    public void TheVgaWindowIsHookedAndRamIsNot()
    {
        // The guest writes 'A' to the first text cell (B800:0000) and a byte to RAM at 0:Result.
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            a.mov(ax, 0xB800);
            a.mov(ds, ax);
            a.mov(__byte_ptr[0], (byte)'A');
            a.mov(al, __byte_ptr[0]);
            a.xor(bx, bx);
            a.mov(ds, bx);
            a.mov(__byte_ptr[Result], al);
            a.mov(__byte_ptr[Result + 1], 0x77);
            Halt(a);
        });
        using Machine machine = HookTestMachine.Build(code, "vga hook");
        int ramCalls = 0;
        using IDisposable ramRead = machine.Hooks.AddMmioReadHook(new PhysicalAddress(0), new PhysicalAddress(0x9FFFF), (_, _, value) =>
        {
            ramCalls++;
            return value;
        });
        using IDisposable ramWrite = machine.Hooks.AddMmioWriteHook(new PhysicalAddress(0), new PhysicalAddress(0x9FFFF), (PhysicalAddress _, int _, ref ulong _) =>
        {
            ramCalls++;
            return true;
        });
        var text = new PhysicalAddress(VgaAdapter.TextMemoryBase);
        using IDisposable vga = machine.Hooks.AddMmioWriteHook(text, text, (PhysicalAddress _, int _, ref ulong value) =>
        {
            value = 'Z';
            return true;
        });

        Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
        Assert.Equal((byte)'Z', machine.Memory.ReadByte(new PhysicalAddress(Result)));   // the VGA memory holds the hook's value
        Assert.Equal(0x77, machine.Memory.ReadByte(new PhysicalAddress(Result + 1)));
        Assert.Equal(0, ramCalls);
    }

    [Fact]
    public void TheHookSeesTheGuestsAccessWidthNotTheDevicesSplit()
    {
        // A dword read of a device that takes bytes and words: the map reads two words, the hook sees one 4-byte access.
        (Machine machine, ScratchMmioDevice device) = Build(GuestPrograms.Assemble16(Origin, a =>
        {
            EnterDeviceSegment(a);
            a.mov(eax, __dword_ptr[0x10]);
            a.xor(bx, bx);
            a.mov(ds, bx);
            a.mov(__dword_ptr[Result], eax);
            Halt(a);
        }));
        using (machine)
        {
            device.Bytes.AsSpan(0x10, 4).Fill(0x11);
            var seen = new List<int>();
            using IDisposable hook = machine.Hooks.AddMmioReadHook(s_register, s_register, (_, width, value) =>
            {
                seen.Add(width);
                return value ^ 0xFFFF_FFFF_0000_0000;    // bits beyond the width are dropped
            });

            machine.Run(maxInstructions: 1000);
            Assert.Equal([4], seen);
            Assert.Equal([(false, 0x10UL, 2, 0x1111UL), (false, 0x12UL, 2, 0x1111UL)], device.Accesses);
            Assert.Equal(0x11111111u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Result)));
        }
    }

    [Fact]
    public void ObserveOnlyHooksLeaveTheRunIdentical()
    {
        byte[] code = GuestPrograms.Assemble16(Origin, a =>
        {
            Label loop = a.CreateLabel();
            EnterDeviceSegment(a);
            a.mov(cx, 100);
            a.Label(ref loop);
            a.add(__byte_ptr[0x10], cl);
            a.mov(al, __byte_ptr[0x10]);
            a.add(__word_ptr[0x20], ax);
            a.loop(loop);
            a.mov(ax, __word_ptr[0x20]);
            a.xor(bx, bx);
            a.mov(ds, bx);
            a.mov(__word_ptr[Result], ax);
            Halt(a);
        });

        (Machine plain, ScratchMmioDevice plainDevice) = Build(code);
        (Machine hooked, ScratchMmioDevice hookedDevice) = Build(code);
        using (plain)
        using (hooked)
        {
            int calls = 0;
            var window = (new PhysicalAddress(DeviceBase), new PhysicalAddress(DeviceBase + 0xFFF));
            using IDisposable read = hooked.Hooks.AddMmioReadHook(window.Item1, window.Item2, (_, _, value) =>
            {
                calls++;
                return value;
            });
            using IDisposable write = hooked.Hooks.AddMmioWriteHook(window.Item1, window.Item2, (PhysicalAddress _, int _, ref ulong _) =>
            {
                calls++;
                return true;
            });

            Assert.Equal(MachineStopKind.HaltedForGood, plain.Run(maxInstructions: 10_000).Kind);
            Assert.Equal(MachineStopKind.HaltedForGood, hooked.Run(maxInstructions: 10_000).Kind);
            // Per round: read-modify-write of 10h, read of 10h, read-modify-write of 20h; then the final read of 20h.
            Assert.Equal((100 * 5) + 1, calls);
            Assert.Equal(plain.Cpu.RetiredInstructions, hooked.Cpu.RetiredInstructions);
            Assert.Equal(plainDevice.Accesses, hookedDevice.Accesses);
            Assert.Equal(SnapshotGuest.RamHash(plain), SnapshotGuest.RamHash(hooked));
        }
    }

    [Fact]
    public void ARangeThatEndsBeforeItStartsIsRefused()
    {
        (Machine machine, _) = Build(ReadRegisterAndStore());
        using (machine)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => machine.Hooks.AddMmioReadHook(new PhysicalAddress(2), new PhysicalAddress(1), (_, _, v) => v));
            Assert.Throws<ArgumentOutOfRangeException>(() => machine.Hooks.AddMmioWriteHook(new PhysicalAddress(2), new PhysicalAddress(1), (PhysicalAddress _, int _, ref ulong _) => true));
            Assert.Null(machine.Memory.MmioInterceptor);
        }
    }

    private static byte[] ReadRegisterAndStore() => GuestPrograms.Assemble16(Origin, a =>
    {
        EnterDeviceSegment(a);
        a.mov(al, __byte_ptr[0x10]);
        a.xor(bx, bx);
        a.mov(ds, bx);
        a.mov(__byte_ptr[Result], al);
        Halt(a);
    });

    private static byte[] WriteRegister(ushort value) => GuestPrograms.Assemble16(Origin, a =>
    {
        EnterDeviceSegment(a);
        a.mov(__word_ptr[0x10], value);
        Halt(a);
    });

    private static void EnterDeviceSegment(Assembler a)
    {
        a.mov(ax, DeviceSegment);
        a.mov(ds, ax);
    }

    private static void Halt(Assembler a)
    {
        a.cli();
        a.hlt();
    }

    private static (Machine Machine, ScratchMmioDevice Device) Build(byte[] code)
    {
        var device = new ScratchMmioDevice();
        // D0000h is free ISA memory on the ISA board only; on the pc board the PAM segments own C0000h-FFFFFh.
        Machine machine = new MachineBuilder()
            .WithBoard(MachineBoard.IsaPc)
            .WithMemorySize(1UL << 20)
            .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
            .AddMmioDevice("scratch", DeviceBase, 0x1000, _ => device)
            .WithFlatBinary(code, new PhysicalAddress(Origin), BootEntryState.RealMode(0, Origin, "mmio hook test"))
            .Build();
        return (machine, device);
    }

    /// <summary>A 4 KiB byte-wide MMIO scratch device that records every access it receives.</summary>
    private sealed class ScratchMmioDevice : IMmioDevice
    {
        public byte[] Bytes { get; } = new byte[0x1000];

        public List<(bool IsWrite, ulong Offset, int Size, ulong Value)> Accesses { get; } = [];

        public AccessWidths SupportedWidths => AccessWidths.Byte | AccessWidths.Word;

        public ulong Read(RegionOffset offset, int sizeInBytes)
        {
            ulong value = 0;
            for (int i = 0; i < sizeInBytes; i++)
            {
                value |= (ulong)Bytes[(int)offset.Value + i] << (8 * i);
            }

            Accesses.Add((false, offset.Value, sizeInBytes, value));
            return value;
        }

        public void Write(RegionOffset offset, int sizeInBytes, ulong value)
        {
            for (int i = 0; i < sizeInBytes; i++)
            {
                Bytes[(int)offset.Value + i] = (byte)(value >> (8 * i));
            }

            Accesses.Add((true, offset.Value, sizeInBytes, value));
        }
    }
}
