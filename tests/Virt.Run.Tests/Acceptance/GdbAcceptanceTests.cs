using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Real gdb in batch mode against <c>Virt.Run -gdb tcp::PORT -S</c>: a breakpoint, registers, memory, a memory write that
/// changes what the guest prints afterwards, stepi and detach; a hardware watchpoint. gdb must be installed
/// (.ci/install-packages does it).
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class GdbAcceptanceTests
{
    private const uint LoadAddress = 0x100000;
    private const int CodeOffset = 0x40;
    private const int ValueOffset = 0x200;
    private const uint ValueAddress = LoadAddress + ValueOffset;
    private const uint InitialValue = 7;
    private const uint WatchedAddress = ValueAddress + 4;
    private const uint WatchedValue = 0x1234;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task GdbBreaksReadsRegistersAndMemoryStepsWritesMemoryAndDetaches()
    {
        (byte[] kernel, uint loadInstruction, uint afterLoad) = BuildKernel();
        GdbSession session = await RunGdbSessionAsync(
            kernel,
            [
                $"break *0x{loadInstruction:x}",
                "continue",
                "info registers eip",
                $"x/4xw 0x{ValueAddress:x}",
                $"set {{int}}0x{ValueAddress:x} = 42",
                "stepi",
                "info registers eip eax",
                "detach",
            ]);

        string gdbOut = session.GdbOut;
        Assert.True(gdbOut.Contains($"0x{loadInstruction:x}", StringComparison.Ordinal), session.Transcript);                 // info registers eip at the breakpoint
        Assert.True(gdbOut.Contains($"0x{ValueAddress:x}:\t0x{InitialValue:x8}", StringComparison.Ordinal), session.Transcript); // x/4xw before the write
        Assert.True(gdbOut.Contains($"0x{afterLoad:x}", StringComparison.Ordinal), session.Transcript);                       // eip after stepi
        Assert.Matches(@"eax\s+0x2a\s+42", gdbOut);                                                                        // the load saw the write

        // After detach the guest runs on, prints the value it loaded and exits through isa-debug-exit with 0.
        Assert.True(session.VirtOut.Contains("0000002A", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.VirtExit == 1, session.Transcript);
    }

    [Fact]
    public async Task GdbWatchpointStopsAfterTheStoreWithOldAndNewValue()
    {
        (byte[] kernel, uint loadInstruction, _) = BuildKernel();
        GdbSession session = await RunGdbSessionAsync(
            kernel,
            [
                $"watch *(int*)0x{WatchedAddress:x}",
                "continue",
                "info registers eip",
                "delete",
                "detach",
            ]);

        Assert.True(session.GdbOut.Contains("Hardware watchpoint 1", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.GdbOut.Contains($"New value = {WatchedValue}", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.GdbOut.Contains($"0x{loadInstruction:x}", StringComparison.Ordinal), session.Transcript); // stopped after the store
        Assert.True(session.VirtOut.Contains("00000007", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.VirtExit == 1, session.Transcript);
    }

    /// <summary>
    /// Starts Virt.Run with the kernel, waiting for a debugger on a free port, and runs gdb in batch mode against it with
    /// <paramref name="commands"/> after connecting; returns both programs' exit codes and output.
    /// </summary>
    private static async Task<GdbSession> RunGdbSessionAsync(byte[] kernel, string[] commands)
    {
        string gdb = VirtRunProcess.Which("gdb")
            ?? throw new InvalidOperationException("gdb is not installed: install the 'gdb' package (see .ci/install-packages)");
        string directory = Directory.CreateTempSubdirectory("virt-gdb-").FullName;
        try
        {
            string kernelPath = Path.Combine(directory, "kernel.bin");
            File.WriteAllBytes(kernelPath, kernel);
            int port = FreePort();
            Task<(int ExitCode, string Stdout, string Stderr)> virt = Task.Run(() => VirtRunProcess.RunVirt(
                s_timeout,
                "-kernel", kernelPath, "-display", "none", "-serial", "null", "-debugcon", "stdio",
                "-device", "isa-debug-exit", "-gdb", $"tcp::{port}", "-S", "--timeout", "60"));

            string[] arguments =
            [
                "-batch", "-nx",
                "-ex", "set tcp connect-timeout 60",
                "-ex", "set architecture i386",
                "-ex", $"target remote 127.0.0.1:{port}",
                .. commands.SelectMany(command => new[] { "-ex", command }),
            ];
            (int gdbExit, string gdbOut, string gdbErr) = VirtRunProcess.Run(gdb, arguments, s_timeout);
            (int virtExit, string virtOut, string virtErr) = await virt;
            string transcript = $"gdb exit {gdbExit}\n{gdbOut}\n{gdbErr}\nVirt.Run exit {virtExit}\n{virtOut}\n{virtErr}";
            return new GdbSession(gdbOut, virtExit, virtOut, transcript);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int FreePort()
    {
        // Port 0 makes the system pick a free port; it is released for Virt.Run right away (a tiny window, fine for tests).
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A Multiboot kernel (a.out kludge): [watched] = 1234h; EAX = [value]; print EAX in hex to port E9h; exit with 0.</summary>
    private static (byte[] Image, uint LoadInstruction, uint AfterLoad) BuildKernel()
    {
        var a = new Assembler(32);
        Label load = a.CreateLabel();
        Label afterLoad = a.CreateLabel();
        Label printHex = a.CreateLabel();
        a.mov(esp, 0x90000);
        a.mov(__dword_ptr[WatchedAddress], WatchedValue); // for the watchpoint test; ends where `load` begins
        a.Label(ref load);
        a.mov(eax, __dword_ptr[ValueAddress]);
        a.Label(ref afterLoad);
        a.call(printHex);
        a.mov(dx, 0x501);
        a.mov(al, 0);
        a.@out(dx, al);
        a.cli();
        a.hlt();
        DebugconCode.EmitPrintHex(a, printHex, '\n');

        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), LoadAddress + CodeOffset, BlockEncoderOptions.ReturnNewInstructionOffsets);
        byte[] code = stream.ToArray();
        Debug.Assert(CodeOffset + code.Length <= ValueOffset, "the code must end before the value");

        byte[] image = new byte[ValueOffset + 16];
        Span<byte> h = image;
        const uint flags = 0x0001_0003; // page-align modules, want memory info, address fields valid
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x1BADB002);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], unchecked(0u - 0x1BADB002u - flags));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], LoadAddress + (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], LoadAddress + (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], LoadAddress + CodeOffset);
        code.CopyTo(image, CodeOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(h[ValueOffset..], InitialValue);
        return (image, (uint)result.GetLabelRIP(load), (uint)result.GetLabelRIP(afterLoad));
    }

    /// <summary>What a gdb session against Virt.Run left: gdb's output, Virt.Run's exit code and output, and both for messages.</summary>
    private sealed record GdbSession(string GdbOut, int VirtExit, string VirtOut, string Transcript);
}
